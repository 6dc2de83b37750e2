from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """In-app notifications for staff: what happened that a person should know about.

    Written only through ``notifications.services`` by the code that knows the event (a task
    falling due, a customer registering, a contact leaving, a case breaching its SLA). Each app
    that notifies names its kinds in ``notifications.kinds.KINDS``.
    """

    name = "notifications"
    verbose_name = "Notifications"
