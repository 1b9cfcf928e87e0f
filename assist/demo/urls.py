"""The demo helpdesk's routes (off unless DEMO_HELPDESK, default DEBUG; see views.py)."""

from django.urls import path

from assist.demo import views

urlpatterns = [
    path("helpdesk/", views.helpdesk, name="demo-helpdesk"),
    path("helpdesk/new", views.helpdesk_new_customer, name="demo-helpdesk-new"),
    path(
        "helpdesk/conversations/<int:conversation_id>",
        views.helpdesk_conversation,
        name="demo-helpdesk-conversation",
    ),
    path(
        "helpdesk/conversations/<int:conversation_id>/close",
        views.helpdesk_close,
        name="demo-helpdesk-close",
    ),
    path("helpdesk/customer/<str:token>/", views.customer, name="demo-customer"),
    path(
        "helpdesk/customer/<str:token>/messages",
        views.customer_messages,
        name="demo-customer-messages",
    ),
]
