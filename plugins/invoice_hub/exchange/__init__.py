"""The exactly-once logic of fetch, deliver and archive: library functions over a ledger, a
transport and a staging area, tested without Airflow; the operators only adapt Context and XCom."""
