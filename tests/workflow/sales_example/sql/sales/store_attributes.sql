-- Each row's store attributes, from the stores table.

with

sales as (
    select
        raw_sales.sale_id,
        raw_sales.store
    from raw_sales
),

stores as (
    select
        raw_stores.store,
        raw_stores.region,
        raw_stores.size_m2
    from raw_stores
),

final as (
    select
        sales.sale_id,
        stores.region,
        stores.size_m2
    from sales
    left join stores on stores.store = sales.store
)

select * from final
