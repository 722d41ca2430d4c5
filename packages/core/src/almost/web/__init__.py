"""Local web pages only their user can drive (:mod:`.localserver`)."""
