"""Pipeline: the stages wired into jobs (Ray appears only in ``ray_jobs``)."""
