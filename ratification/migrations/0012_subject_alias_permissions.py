"""Editors manage subject aliases as they manage subjects (0002_roles); viewers may view them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


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
            codename__in=[f"{action}_subjectalias" for action in actions],
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
                content_type__app_label="agreements", codename__endswith="_subjectalias"
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0011_step_date_may_be_unknown"),
        ("agreements", "0010_subject_aliases_and_history"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
