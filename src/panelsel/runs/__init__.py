"""What the commands share, below them: the in-memory selection (:mod:`.select`), option
checks and seeding (:mod:`.options`), the notes of a run in their order (:mod:`.notes`), a
recorded run's inputs read again (:mod:`.recorded`), the chain of replacement rounds
(:mod:`.chain`) and a round's loosened quotas (:mod:`.loosen`).  No command imports another;
each imports from here."""
