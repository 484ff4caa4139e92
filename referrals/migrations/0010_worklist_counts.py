"""Worklist counts read from indexes alone: the visit time joins the coordinator
index (a coordinator's bucket counts become an index-only scan), the owner joins the
follow-ups' due-time index (the counts of the days read live), and a coordinator's
scheduled referrals get their own index in visit-time order (the visits that passed).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0007_first_reply'),
        ('patients', '0012_search_keys'),
        ('referrals', '0009_state_times'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='followup',
            name='followup_due_idx',
        ),
        migrations.RemoveIndex(
            model_name='referral',
            name='referral_coordinator_idx',
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(fields=['status', 'due_at', 'id', 'assigned_to', 'queue'], name='followup_due_idx'),
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(fields=['coordinator', 'status', 'priority_rank', 'status_changed_at', 'id', 'appointment_at'], name='referral_coordinator_idx'),
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(condition=models.Q(('status', 'scheduled')), fields=['coordinator', 'priority_rank', 'appointment_at', 'id'], name='referral_coordinator_visit_idx'),
        ),
    ]
