"""The gateway's ports of a component port (components/gateway.py), given at once to the ports whose
switches are already on, so that turning the gateway on changes nothing for them but the address."""

from django.conf import settings
from django.db import migrations, models

from components.gateway import port_range


def _give(ports, field, numbers):
    taken = set(ports.model.objects.exclude(**{f"{field}__isnull": True}).values_list(field, flat=True))
    free = iter(n for n in numbers if n not in taken)
    for port in ports.order_by("pk"):
        setattr(port, field, next(free))
        port.save(update_fields=[field])


def forwards(apps, schema_editor):
    Port = apps.get_model("components", "Port")
    _give(
        Port.objects.filter(inner_service=True, gateway_port__isnull=True),
        "gateway_port",
        port_range(settings.KATO_GATEWAY_INTERNAL_PORTS),
    )
    _give(
        Port.objects.filter(outer_service=True, public_port__isnull=True).exclude(protocol="http"),
        "public_port",
        port_range(settings.KATO_GATEWAY_PUBLIC_PORTS),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("components", "0005_audit_event_moves_to_core"),
    ]

    operations = [
        migrations.AddField(
            model_name="port",
            name="gateway_port",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="port",
            name="public_port",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
