"""The `editors` and `viewers` groups and their permissions.

Editors may add, change and delete agreements, their parts and ratification steps; viewers may
only view. Staff and superusers are managed in the admin as usual.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITABLE = {
    "agreements": [
        "agreement",
        "participation",
        "signatory",
        "provision",
        "source",
        "relation",
        "subject",
    ],
    "ratification": ["ratificationstep"],
}
VIEWABLE = {
    "parties": ["party", "procedurestep"],
    "agreements": EDITABLE["agreements"],
    "ratification": ["ratificationstep", "statuschange"],
}


def add_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so we can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(spec, actions):
        return Permission.objects.filter(
            content_type__app_label__in=list(spec),
            codename__in=[f"{a}_{m}" for models in spec.values() for m in models for a in actions],
        )

    editors, _ = Group.objects.get_or_create(name="editors")
    editors.permissions.add(
        *perms(EDITABLE, ["add", "change", "delete"]), *perms(VIEWABLE, ["view"])
    )
    viewers, _ = Group.objects.get_or_create(name="viewers")
    viewers.permissions.add(*perms(VIEWABLE, ["view"]))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["editors", "viewers"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0001_initial"),
        ("agreements", "0001_initial"),
        ("parties", "0002_iso_states_organisations_procedures"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_groups, remove_groups)]
