"""Editors add, correct and remove clock rules, clock extensions and the choice of a
conditional clock rule for an agreement; everyone with a role may view them (the groups of
0002_roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = [
    ("parties", "clockrule"),
    ("ratification", "clockextension"),
    ("ratification", "clockrulechoice"),
]


def _perms(apps, actions):
    Permission = apps.get_model("auth", "Permission")
    found = Permission.objects.none()
    for app_label, model in MODELS:
        found = found | Permission.objects.filter(
            content_type__app_label=app_label, codename__in=[f"{a}_{model}" for a in actions]
        )
    return found


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so we can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    editors, _ = Group.objects.get_or_create(name="editors")
    editors.permissions.add(*_perms(apps, ["add", "change", "delete", "view"]))
    viewers, _ = Group.objects.get_or_create(name="viewers")
    viewers.permissions.add(*_perms(apps, ["view"]))


def revoke(apps, schema_editor):
    every = list(_perms(apps, ["add", "change", "delete", "view"]))
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["editors", "viewers"]):
        group.permissions.remove(*every)


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0020_clock_cache_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
