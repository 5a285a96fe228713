-- The feature table: one row per store, product and day, in sale_id order.

with

sales as (
    select
        raw_sales.sale_id,
        raw_sales.date,
        raw_sales.store,
        raw_sales.product,
        raw_sales.promo,
        raw_sales.price,
        raw_sales.units
    from raw_sales
),

final as (
    select
        sales.sale_id,
        sales.date,
        sales.units,
        cast(sales.promo as integer) as promo,
        sales.price,
        calendar.day_of_week,
        calendar.month,
        history.units_lag1,
        history.units_lag7,
        history.units_mean_short,
        history.units_mean_long,
        store_attributes.size_m2,
        sales.store,
        store_attributes.region,
        sales.product
    from sales
    inner join calendar on calendar.sale_id = sales.sale_id
    inner join history on history.sale_id = sales.sale_id
    inner join store_attributes on store_attributes.sale_id = sales.sale_id
    order by sales.sale_id
)

select * from final
