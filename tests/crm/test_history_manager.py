"""Every tracked model keeps its history through the project's ``HistoricalRecords``,
whose manager class is made once, not at each save."""

from django.apps import apps

from crm.history import HistoryManager


def tracked_models():
    return [m for m in apps.get_models() if hasattr(m._meta, "simple_history_manager_attribute")]


def test_every_tracked_model_reads_its_history_through_one_manager_class():
    models = tracked_models()
    assert len(models) >= 13
    for model in models:
        name = model._meta.simple_history_manager_attribute
        first, second = getattr(model, name), getattr(model, name)
        assert isinstance(first, HistoryManager), model
        assert type(first) is type(second), model  # made once, not per access
        assert first.model is second.model
