<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16" styleCategories="Symbology">
<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0"><rules key="root"><rule key="r0" symbol="0" label="Semua"/></rules><symbols><symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleFill" pass="0" locked="0" enabled="1"><prop k="color" v="255,255,255,0"/><prop k="outline_color" v="82,82,82,255"/><prop k="outline_width" v="0.6"/><prop k="outline_width_unit" v="MM"/><prop k="style" v="solid"/></layer></symbol></symbols></renderer-v2>
</qgis>
