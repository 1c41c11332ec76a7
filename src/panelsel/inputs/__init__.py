"""Reading the inputs: the registrants file and the quota file, validated into a :class:`Model`."""
