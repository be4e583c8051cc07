from django.urls import path

from community import views

app_name = "community"
urlpatterns = [
    path("", views.home, name="home"),
    path("segments/new/", views.segment_edit, name="segment_create"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<int:segment_id>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:segment_id>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="segment_delete"),
    path("newsletters/", views.newsletter_list, name="newsletter_list"),
    path("newsletters/new/", views.newsletter_edit, name="newsletter_create"),
    path("newsletters/<int:newsletter_id>/", views.newsletter_detail, name="newsletter_detail"),
    path("newsletters/<int:newsletter_id>/edit/", views.newsletter_edit, name="newsletter_edit"),
    path("newsletters/<int:newsletter_id>/send/", views.newsletter_send, name="newsletter_send"),
    path("newsletters/<int:newsletter_id>/unschedule/", views.newsletter_unschedule, name="newsletter_unschedule"),
    path("newsletters/<int:newsletter_id>/test/", views.newsletter_test, name="newsletter_test"),
    path("events/new/", views.event_edit, name="event_create"),
    path("events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("events/<int:event_id>/edit/", views.event_edit, name="event_edit"),
    path("events/<int:event_id>/invite/", views.event_invite, name="event_invite"),
    path("events/<int:event_id>/check-in/", views.event_checkin, name="event_checkin"),
    path("invitations/<int:invitation_id>/check-in/", views.invitation_check_in, name="invitation_check_in"),
    path("invitations/<int:invitation_id>/answer/", views.invitation_record_answer, name="invitation_answer"),
    # Public: signed links in emails.
    path("rsvp/<str:token>/", views.rsvp, name="rsvp"),
    path("profile/saved/", views.profile_saved, name="profile_saved"),
    path("profile/new-link/", views.profile_link_request, name="profile_link_request"),
    path("profile/confirm/<str:token>/", views.profile_confirm, name="profile_confirm"),
    path("profile/<str:token>/", views.profile, name="profile"),
]
