environment = "prod"
sale_schedule = [
  { name = "before-the-peak", start = "2026-11-27T08:01:00Z", min = 6, desired = 6 },
  { name = "after-the-peak", start = "2026-11-27T08:17:00Z", min = 1 },
]
