"""Editors add, correct and remove sessions and sitting days; everyone with a role may view
legislatures, chambers, sessions and sitting days (the groups of ratification/0002_roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITABLE = ["session", "sittingday"]
VIEWABLE = ["legislature", "chamber", "session", "sittingday"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so we can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(models, actions):
        return Permission.objects.filter(
            content_type__app_label="parties",
            codename__in=[f"{a}_{m}" for m in models for a in actions],
        )

    editors, _ = Group.objects.get_or_create(name="editors")
    editors.permissions.add(
        *perms(EDITABLE, ["add", "change", "delete"]), *perms(VIEWABLE, ["view"])
    )
    viewers, _ = Group.objects.get_or_create(name="viewers")
    viewers.permissions.add(*perms(VIEWABLE, ["view"]))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{a}_{m}" for m in VIEWABLE for a in ["add", "change", "delete", "view"]]
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["editors", "viewers"]):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="parties", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0004_legislative_calendars"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
