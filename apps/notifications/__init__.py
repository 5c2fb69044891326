"""Notifications: users subscribe apprise URLs (channels) to events; ``notify`` records a
delivery per subscribed channel and a Celery task sends it. This app sits below the domain
apps (they call it; it imports none of them)."""
