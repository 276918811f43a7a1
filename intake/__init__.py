"""How a report gets in: the one submit path, receipts, the public form, the JSON API, follow-up."""
