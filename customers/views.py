from django.shortcuts import render


def my_day(request):
    return render(request, "customers/my_day.html", {})
