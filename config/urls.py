"""Root URL configuration: the admin console (the API arrives with its own issue)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
