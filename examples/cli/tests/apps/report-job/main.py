"""The nightly report: prints the day's totals as a table, then exits."""

from tabulate import tabulate

TOTALS = [("orders", 42), ("refunds", 3)]


def main() -> None:
    print("report: nightly totals")
    print(tabulate(TOTALS, headers=["metric", "count"], tablefmt="github"))


if __name__ == "__main__":
    main()
