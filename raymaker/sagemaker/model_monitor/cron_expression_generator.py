"""``sagemaker.model_monitor.cron_expression_generator``: SageMaker's schedule expressions,
plus ``every`` (raymaker: any interval, as ``rate(...)``)."""

from __future__ import annotations


class CronExpressionGenerator:
    """Schedule expressions for ``create_monitoring_schedule``."""

    @staticmethod
    def hourly() -> str:
        return "cron(0 * ? * * *)"

    @staticmethod
    def daily(hour: int = 0) -> str:
        return f"cron(0 {hour} ? * * *)"

    @staticmethod
    def daily_every_x_hours(hour_interval: int, starting_hour: int = 0) -> str:
        return f"cron(0 {starting_hour}/{hour_interval} ? * * *)"

    @staticmethod
    def now() -> str:
        """One run, at once."""
        return "NOW"

    @staticmethod
    def every(seconds: int = 0, minutes: int = 0, hours: int = 0) -> str:
        """raymaker: every interval, e.g. ``every(minutes=5)`` is ``rate(300 seconds)``."""
        total = int(seconds + 60 * minutes + 3600 * hours)
        if total < 1:
            raise ValueError("every(...) needs an interval of at least 1 second")
        return f"rate({total} seconds)"
