"""Admin for parties and their default ratification procedures (reference data)."""

from django.contrib import admin
from django.db.models import Count

from .models import Party, ProcedureStep


class ProcedureStepInline(admin.TabularInline):
    model = ProcedureStep
    fields = ["order", "kind", "body", "legislative", "note"]
    extra = 0
    ordering = ["order"]


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "official_name", "kind", "procedure_length"]
    list_display_links = ["code", "name"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "official_name"]
    ordering = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["code", "name", "official_name", "kind", "created_at", "updated_at"]
    inlines = [ProcedureStepInline]

    def get_queryset(self, request):
        # The procedure column counts steps in the list query instead of one query per row.
        return (
            super().get_queryset(request).annotate(procedure_steps_count=Count("procedure_steps"))
        )

    @admin.display(description="procedure steps", ordering="procedure_steps_count")
    def procedure_length(self, party: Party) -> int:
        return party.procedure_steps_count


@admin.register(ProcedureStep)
class ProcedureStepAdmin(admin.ModelAdmin):
    list_display = ["__str__", "party", "order", "kind", "body", "legislative"]
    list_filter = ["kind", "legislative", "party__kind"]
    search_fields = ["party__code", "party__name", "body", "note"]
    list_select_related = ["party"]
    autocomplete_fields = ["party"]
    ordering = ["party__code", "order"]
