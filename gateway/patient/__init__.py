"""The patient page: a signed link opens a patient's appointments and messages (docs/patient-page.md)."""
