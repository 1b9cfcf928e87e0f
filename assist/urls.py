from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from assist import views
from assist.api import views as api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/conversations", api.ConversationList.as_view(), name="api-conversations"),
    path(
        "api/conversations/<int:conversation_id>",
        api.ConversationDetail.as_view(),
        name="api-conversation",
    ),
    path("api/templates", api.TemplateList.as_view(), name="api-templates"),
    path("api/model-versions", api.ModelVersionList.as_view(), name="api-model-versions"),
]
