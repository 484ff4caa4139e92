from django.urls import path

from messaging.views import sms_inbound, sms_status

urlpatterns = [
    path("webhooks/sms/status/", sms_status, name="sms-status"),
    path("webhooks/sms/inbound/", sms_inbound, name="sms-inbound"),
]
