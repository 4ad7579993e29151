"""Admin views of halls, windows and consultations: shown here, changed only through
`halls.services` (which check what a window receives and who may staff it)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from halls.models import Consultation, ServiceHall, Window


@admin.register(ServiceHall)
class ServiceHallAdmin(ReadOnlyAdmin):
    list_display = ["name", "code", "kind", "division", "organisation", "phone"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "address"]


@admin.register(Window)
class WindowAdmin(ReadOnlyAdmin):
    list_display = ["hall", "number", "name", "organisation"]
    list_filter = ["hall"]
    search_fields = ["name", "hall__name"]


@admin.register(Consultation)
class ConsultationAdmin(ReadOnlyAdmin):
    list_display = ["at", "window", "item_name", "asker_name_masked", "outcome"]
    list_filter = ["outcome"]
    exclude = ["asker_name", "asker_contact"]
