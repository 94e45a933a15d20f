"""Editors record reservations, declarations and objections as they record provisions
(0002_roles); viewers may view them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ("statement", "objection")


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so we can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(actions):
        return Permission.objects.filter(
            content_type__app_label="agreements",
            codename__in=[f"{action}_{model}" for action in actions for model in MODELS],
        )

    editors, _ = Group.objects.get_or_create(name="editors")
    editors.permissions.add(*perms(["add", "change", "delete", "view"]))
    viewers, _ = Group.objects.get_or_create(name="viewers")
    viewers.permissions.add(*perms(["view"]))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=["editors", "viewers"]):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="agreements",
                codename__in=[
                    f"{action}_{model}"
                    for action in ("add", "change", "delete", "view")
                    for model in MODELS
                ],
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0017_forecasts"),
        ("agreements", "0014_statements_and_objections"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
