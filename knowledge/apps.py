from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """The knowledge base: articles for staff and customers, searched and suggested."""

    name = "knowledge"
    verbose_name = "Knowledge base"
