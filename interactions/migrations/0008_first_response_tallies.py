"""The first-response tallies (``interactions.tallies``): inbound contacts per week by
the duration bin of their time to the first reply, counted from the rows already
there; and an index of the restricted inbound contacts, which a coordinator counts
beside them."""

from django.conf import settings
from django.db import migrations, models

from interactions import tallies

FIRST_RESPONSE_TALLIES = ("interactions_interaction_reply_tally",)


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0007_first_reply'),
        ('patients', '0012_search_keys'),
        ('referrals', '0011_metric_tallies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FirstReplyTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('week', models.DateField()),
                ('channel', models.CharField(choices=[('phone', 'Phone'), ('sms', 'SMS'), ('email', 'Email'), ('chat', 'Chat'), ('portal', 'Portal secure message'), ('video', 'Video'), ('in_person', 'In person'), ('social', 'Social media / public review'), ('letter', 'Letter'), ('chatbot', 'Chatbot')], max_length=16)),
                ('sensitivity', models.CharField(choices=[('normal', 'Normal'), ('restricted', 'Restricted')], max_length=16)),
                ('bin', models.IntegerField()),
                ('n', models.IntegerField(default=0)),
                ('seconds', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name='interaction',
            index=models.Index(condition=models.Q(('direction', 'inbound'), ('sensitivity', 'restricted')), fields=['occurred_at', 'channel', 'first_reply_at', 'patient'], name='interaction_restricted_in_idx'),
        ),
        migrations.AddIndex(
            model_name='firstreplytally',
            index=models.Index(fields=['week', 'sensitivity', 'channel', 'bin', 'n', 'seconds'], name='firstreplytally_week_idx'),
        ),
        migrations.AddConstraint(
            model_name='firstreplytally',
            constraint=models.UniqueConstraint(fields=('channel', 'sensitivity', 'week', 'bin'), name='firstreplytally_key'),
        ),
        tallies.migration(FIRST_RESPONSE_TALLIES),
    ]
