"""Spend analytics: rollups kept as usage is written, Requesty's usage endpoints, reports,
recommendations and retention.

Decisions, in one place:

- Rollups are maintained by the usage writer, in the transaction that inserts the records
  (`rollups.record_usage`); nothing rescans the log. Four tables (`tables.py`): per day at the
  finest grain (key, user, the key's own group, endpoint, models, provider), per day per *charged*
  group, and per month per charged group and per user.
- A group's figures include its subtree because rows are stored per charged group (the key's group
  and every ancestor, fixed when the request was made, docs/design.md §3): a plain `group_id = :g`, each
  request counted once, and history does not move when the tree does. Cost allocation instead maps
  each request's own group through the *current* tree, so every nano-dollar lands on one line.
- Days and months are the org's calendar (its timezone, `covey.budgets.periods`): the rollups are kept
  by its days and months, so a report's month is the month budgets count and the panel shows.
- Requesty's usage endpoints answer in UTC periods. Hour resolution, ranges not on whole UTC days,
  `extra.<field>` grouping and orgs whose calendar is not UTC read the raw usage records there
  (indexed by org or key, then time): they are for short windows and reach back only as far as
  records are retained. Everything else reads rollups.
- Retention (`retention.prune_usage`, `COVEY_USAGE_RETENTION_DAYS`) deletes usage records and their
  charges; the rollups stay, so reports on old months still answer.
"""
