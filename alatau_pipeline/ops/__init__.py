"""Operations: schedules, the landing-zone sensor, freshness of the marts, retry policies, and the local
instance's storage (``instance_storage``, selected by ``dagster_home/dagster.yaml``)."""
