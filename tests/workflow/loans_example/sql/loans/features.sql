-- The feature table: one row per loan, its terms and its borrower, and the amount against the
-- borrower's yearly income.

with

loans as (
    select
        raw_loans.loan_id,
        raw_loans.customer,
        raw_loans.branch,
        raw_loans.amount,
        raw_loans.term_months,
        raw_loans.income,
        raw_loans.student,
        raw_loans.defaulted
    from raw_loans
),

final as (
    select
        loans.loan_id,
        loans.customer,
        loans.amount,
        cast(loans.term_months as double) as term_months,
        loans.income,
        cast(loans.student as integer) as student,
        loans.amount / nullif(loans.income, 0) as debt_to_income,
        loans.branch,
        loans.defaulted
    from loans
    order by loans.loan_id
)

select * from final
