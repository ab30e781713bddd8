from django.urls import path

from . import bench_views

urlpatterns = [
    path("insert/", bench_views.InsertOneView.as_view(), name="bench-insert"),
    path("constant/", bench_views.ConstantView.as_view(), name="bench-constant"),
]
