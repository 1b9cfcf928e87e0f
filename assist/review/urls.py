from django.urls import path

from assist.review import views

app_name = "review"

urlpatterns = [
    path("", views.conversation_list, name="conversations"),
    path("conversations.csv", views.conversation_export, name="export"),
    path("conversations/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("experiments/", views.experiment_list, name="experiments"),
    path("experiments/<int:experiment_id>/", views.experiment_detail, name="experiment"),
]
