"""ordercare's web side: the self-service pages our messages link to (``ordercare serve``)."""
