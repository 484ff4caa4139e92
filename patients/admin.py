"""No patient data in the Django admin: the admin site is for configuration (service
levels, the provider directory, users). Patient records are read and changed through
the API and the staff app, where the access policy and the access log apply to every
read; the admin site has neither (docs/architecture.md)."""
