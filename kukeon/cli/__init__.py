"""kuke: the command line client of kukeond (parses, calls the API, formats)."""
