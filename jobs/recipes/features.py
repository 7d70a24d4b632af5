"""A custom recipe step: any function DataFrame -> DataFrame."""


def add_calls_per_year(df):
    df["calls_per_year"] = df["support_calls"] / ((df["tenure"].abs() + 1) / 12)
    return df
