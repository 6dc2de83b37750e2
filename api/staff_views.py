from django.http import HttpResponse


def api_key_list(request):
    return HttpResponse()


api_key_create = api_key_revoke = api_key_list
