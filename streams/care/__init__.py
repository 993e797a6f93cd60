"""Care workflows as pure decisions: reminders, replies in context, conversation flow, AI bridge, urgent lane."""
