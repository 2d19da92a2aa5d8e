-- Every one of the 125 combinations of R, F and M scores matches at least one rule of the seed.
with

rfm_segment_rules as (
    select * from {{ ref('rfm_segment_rules') }}
),

scores as (
    select score
    from (values (1), (2), (3), (4), (5)) as score_values (score)
),

combinations as (
    select
        r.score as r_score,
        f.score as f_score,
        m.score as m_score
    from scores as r
    cross join scores as f
    cross join scores as m
),

matched as (
    select distinct
        combinations.r_score,
        combinations.f_score,
        combinations.m_score
    from combinations
    inner join rfm_segment_rules as rules
        on combinations.r_score between rules.r_score_min and rules.r_score_max
            and combinations.f_score between rules.f_score_min and rules.f_score_max
            and combinations.m_score between rules.m_score_min and rules.m_score_max
),

final as (
    select combinations.*
    from combinations
    {{ anti_join() }} matched
        using (r_score, f_score, m_score)
)

select * from final
