"""The one name the system gives itself: on the console's and the admin's pages, in the API schema, as the
sender of its emails and in the annual report it drafts."""

SYSTEM_NAME = "GSTP 智慧國家方案管考系統"
