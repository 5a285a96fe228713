"""The loans example's table, generated: the file README's "Data without time" works on.

A lender's loans: who borrowed (a customer may hold several loans), at which branch, how much,
for how long, the borrower's yearly income and whether a student, and whether the loan
defaulted. No time column. The committed CSV under tests/workflow/loans_example/data/ is this
function's output (a test checks it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BRANCHES = ("harbour", "market", "mill", "station", "university", "valley")


def loans_table(n_customers: int = 500, seed: int = 5) -> pd.DataFrame:
    """About 2.4 loans per customer; default odds grow with the debt-to-income ratio."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(
        {
            "customer": [f"c{i:04d}" for i in range(n_customers)],
            "branch": rng.choice(BRANCHES, n_customers),
            "student": rng.random(n_customers) < 0.2,
        }
    )
    customers["income"] = np.round(
        np.where(customers["student"], 12000, 42000) * rng.lognormal(0, 0.35, n_customers), -2
    )
    loans = customers.loc[customers.index.repeat(rng.integers(1, 5, n_customers))]
    loans = loans.reset_index(drop=True)
    n = len(loans)
    loans["amount"] = np.round(rng.lognormal(9.0, 0.6, n), -1)
    loans["term_months"] = rng.choice([12, 24, 36, 60], n)
    burden = loans["amount"] / loans["income"]
    logit = -3.2 + 4.0 * burden + 0.6 * loans["student"] + 0.01 * loans["term_months"]
    loans["defaulted"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return loans[["customer", "branch", "amount", "term_months", "income", "student", "defaulted"]]
