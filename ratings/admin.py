from django.contrib import admin

from ratings.models import OptionSet, RatingOption, RectificationDeadline


class RatingOptionInline(admin.TabularInline):
    model = RatingOption
    extra = 0


@admin.register(OptionSet)
class OptionSetAdmin(admin.ModelAdmin):
    """Option sets are versions: add a new one rather than editing one in use."""

    list_display = ["version", "effective_from", "note"]
    inlines = [RatingOptionInline]


@admin.register(RectificationDeadline)
class RectificationDeadlineAdmin(admin.ModelAdmin):
    list_display = ["province", "working_days"]
