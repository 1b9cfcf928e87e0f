"""The site's URLs: pages, the demo, review, admin, login and the REST API (/api/).

WebSocket routes are in assist/live/routing.py (config/asgi.py mounts them)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from assist import views
from assist.api import integrations
from assist.api import views as api
from assist.live import views as live

urlpatterns = [
    path("", views.home, name="home"),
    path("start/", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("panel/", live.panel, name="panel"),
    path("demo/", include("assist.demo.urls")),
    path("review/", include("assist.review.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/conversations", api.ConversationList.as_view(), name="api-conversations"),
    path(
        "api/conversations/<int:conversation_id>",
        api.ConversationDetail.as_view(),
        name="api-conversation",
    ),
    path(
        "api/conversations/<int:conversation_id>/messages",
        api.MessageCreate.as_view(),
        name="api-messages",
    ),
    path(
        "api/conversations/<int:conversation_id>/suggestions/latest",
        api.LatestSuggestion.as_view(),
        name="api-latest-suggestion",
    ),
    path("api/picks", api.PickCreate.as_view(), name="api-picks"),
    path("api/tokens", api.Tokens.as_view(), name="api-tokens"),
    path("api/tokens/current", api.CurrentToken.as_view(), name="api-token-current"),
    path("api/templates", api.TemplateList.as_view(), name="api-templates"),
    path("api/model-versions", api.ModelVersionList.as_view(), name="api-model-versions"),
    path(
        "api/conversations/<int:conversation_id>/assignee",
        integrations.ConversationAssignee.as_view(),
        name="api-conversation-assignee",
    ),
    path(
        "api/integrations/helpdesk/events",
        integrations.helpdesk_events,
        name="api-helpdesk-events",
    ),
]

# Styled error pages with a way to where the user works (with DEBUG on, Django shows its own).
handler403 = "assist.views.forbidden"
handler404 = "assist.views.not_found"
handler500 = "assist.views.server_error"
