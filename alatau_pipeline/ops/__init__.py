"""Operations: schedules, the landing-zone sensor, freshness of the marts, retry policies."""
