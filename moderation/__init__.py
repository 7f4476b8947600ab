"""Moderation library (issue 3): sanitising, personal-data detection and masking (マイナンバー,
phone numbers, e-mail, postal codes, addresses, card numbers), blocked words, spam and flood
checks, and verdicts, as ``moderation.scan(text)`` and ``moderation.mask(text)``. It will import
nothing from ``app`` or Flask. Nothing lives here yet."""
