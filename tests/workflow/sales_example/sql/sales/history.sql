-- Units of the same store and product on PAST days only: yesterday, a week before, and the
-- means over the windows_short and windows_long days before the row's day (the day itself
-- excluded). Days are found by date, so a missing or unknown day gives a null, not an older day.

with

sales as (
    select
        raw_sales.sale_id,
        raw_sales.date,
        raw_sales.store,
        raw_sales.product,
        raw_sales.units
    from raw_sales
),

final as (
    select
        sales.sale_id,
        yesterday.units as units_lag1,
        week_before.units as units_lag7,
        avg(sales.units) over short_window as units_mean_short,
        avg(sales.units) over long_window as units_mean_long
    from sales
    left join sales as yesterday
        on yesterday.store = sales.store
        and yesterday.product = sales.product
        and yesterday.date = sales.date - 1
    left join sales as week_before
        on week_before.store = sales.store
        and week_before.product = sales.product
        and week_before.date = sales.date - 7
    window
        short_window as (
            partition by sales.store, sales.product
            order by sales.date
            range between to_days(cast(getvariable('windows_short') as integer)) preceding
                and to_days(1) preceding
        ),
        long_window as (
            partition by sales.store, sales.product
            order by sales.date
            range between to_days(cast(getvariable('windows_long') as integer)) preceding
                and to_days(1) preceding
        )
)

select * from final
