-- Calendar of each row's day, known in advance: ISO day of the week (1 = Monday) and month.

with

sales as (
    select
        raw_sales.sale_id,
        raw_sales.date
    from raw_sales
),

final as (
    select
        sales.sale_id,
        cast(isodow(sales.date) as integer) as day_of_week,
        cast(month(sales.date) as integer) as month
    from sales
)

select * from final
