"""Open referrals and follow-ups tallied per day by triggers (``referrals.tallies``),
counted from the rows already there."""

from django.db import migrations, models

from referrals import tallies


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0007_worklist_order'),
    ]

    operations = [
        migrations.CreateModel(
            name='FollowUpTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('assignee', models.IntegerField()),
                ('queue', models.CharField(blank=True, choices=[('care_coordination', 'Care coordination'), ('billing', 'Billing'), ('pharmacy', 'Pharmacy'), ('front_desk', 'Front desk'), ('contact_center', 'Contact center'), ('clinical', 'Clinical')], max_length=32)),
                ('day', models.DateField()),
                ('n', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('assignee', 'queue', 'day'), name='followuptally_key')],
            },
        ),
        migrations.CreateModel(
            name='ReferralTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('sent', 'Sent'), ('accepted', 'Accepted'), ('declined', 'Declined'), ('scheduled', 'Scheduled'), ('no_show', 'No-show'), ('seen', 'Seen, report pending'), ('closed', 'Closed (report received)'), ('cancelled', 'Cancelled')], max_length=16)),
                ('priority_rank', models.PositiveSmallIntegerField()),
                ('day', models.DateField()),
                ('n', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('status', 'priority_rank', 'day'), name='referraltally_key')],
            },
        ),
        tallies.migration(tallies.WORKLIST_TALLIES),
    ]
